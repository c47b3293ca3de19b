// One row of the new-job form: its label, its control, a hint, and its error beside it.
import type { ReactNode } from "react";

export function Field(props: {
  name: string;
  label: string;
  hint?: ReactNode;
  error?: string | undefined;
  children: ReactNode;
}) {
  const { name, label, hint, error, children } = props;
  return (
    <div className={error ? "field invalid" : "field"}>
      <label htmlFor={name}>{label}</label>
      <div>{children}</div>
      {error ? (
        <p className="error" id={`${name}-error`} role="alert">
          {error}
        </p>
      ) : null}
      {hint ? <p className="hint">{hint}</p> : null}
    </div>
  );
}
