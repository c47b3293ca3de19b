// A whole number typed as text (a command-line flag, a form field), checked with zod: the one message both say when it is not.
import { z } from "zod";

/** Text holding a whole number from `min` to `max` (surrounding blanks allowed), as that number. */
export const wholeNumber = (min: number, max: number) => {
  const message = `expected a whole number from ${min} to ${max}`;
  return z
    .string()
    .trim()
    .regex(/^\d+$/, message)
    .transform(Number)
    .pipe(z.number().min(min, message).max(max, message));
};
