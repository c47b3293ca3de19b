// The new-job form's fields that guard the job against its volunteers: the exposure cap and collusion k, spot checks and decoys.
import { Field } from "../_components/field.tsx";

export function ProtectionFields(props: {
  value: (name: string) => string;
  errors: Record<string, string>;
}) {
  const { value, errors: e } = props;
  return (
    <>
      <Field
        name="cap"
        label="Exposure cap (%)"
        error={e.cap}
        hint="optional: no worker is given more than this share of the input records, nor of the map output; a job that cannot keep to it is refused or fails, never run past it"
      >
        <input
          id="cap"
          type="text"
          inputMode="decimal"
          name="cap"
          placeholder="e.g. 25"
          defaultValue={value("cap")}
        />
      </Field>
      <Field
        name="collusion"
        label="Collusion k"
        error={e.collusion}
        hint="optional, with a cap: any k workers together are held to the cap too (needs at least k ÷ cap workers)"
      >
        <input
          id="collusion"
          type="number"
          name="collusion"
          min={1}
          max={32}
          placeholder="1"
          defaultValue={value("collusion")}
        />
      </Field>
      <Field
        name="spotchecks"
        label="Spot checks (%)"
        error={e.spotchecks}
        hint="optional: the job host runs this share of the tasks again itself, in its own sandbox, and every worker's first result; a worker whose result differs is caught, dropped and its work run again (not with replication)"
      >
        <input
          id="spotchecks"
          type="text"
          inputMode="decimal"
          name="spotchecks"
          placeholder="e.g. 30"
          defaultValue={value("spotchecks")}
        />
      </Field>
      <Field
        name="decoys"
        label="Decoys (%)"
        error={e.decoys}
        hint="optional: decoy splits of sampled input records, this share of the real ones (rounded up), that look like any other; the job host knows their output, so a worker that fakes one is caught (not with replication, nor under an exposure cap)"
      >
        <input
          id="decoys"
          type="text"
          inputMode="decimal"
          name="decoys"
          placeholder="e.g. 20"
          defaultValue={value("decoys")}
        />
      </Field>
    </>
  );
}
