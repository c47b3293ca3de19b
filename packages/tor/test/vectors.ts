// Loads the known-answer vectors in test/vectors/, each with its source named in the file.
import { readFileSync } from "node:fs";
import { z } from "zod";

const onionSchema = z.object({
  source: z.array(z.string()),
  rfc8032Test1: z.object({ seed: z.string(), publicKey: z.string() }),
  serviceId: z.string(),
});

export const onionAddressVector = onionSchema.parse(
  JSON.parse(readFileSync(new URL("./vectors/onion-address.json", import.meta.url), "utf8")),
);
