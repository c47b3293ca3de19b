"use server";
// The post form's server action: it parses, calls postRequest, and sends the requester to her status link.
import { redirect } from "next/navigation";
import { BoardError } from "../../../server/board/errors.ts";
import { postRequest } from "../../../server/board/post-request.ts";
import { boardContext } from "../../../server/context.ts";

export interface PostFormState {
  error?: { field: string | undefined; message: string };
  values?: Record<string, string>;
}

const FIELDS = [
  "title",
  "description",
  "size",
  "onion",
  "minMemoryMb",
  "sandbox",
  "stamp",
] as const;

export async function postAction(_previous: PostFormState, form: FormData): Promise<PostFormState> {
  const values = Object.fromEntries(FIELDS.map((f) => [f, String(form.get(f) ?? "")]));
  const { db, settings } = await boardContext();
  let statusToken: string;
  try {
    ({ statusToken } = await postRequest(db, settings, values));
  } catch (error) {
    if (error instanceof BoardError) {
      // The stamp is spent or wrong either way: the form comes back without it.
      return {
        error: { field: error.field, message: error.message },
        values: { ...values, stamp: "" },
      };
    }
    throw error;
  }
  redirect(`/status/${statusToken}?posted=1`);
}
