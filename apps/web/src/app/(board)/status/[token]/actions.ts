"use server";
// The status page's cancel action: parse, authorize by the link's token, call cancelRequest.
import { redirect } from "next/navigation";
import { BoardError } from "../../../../server/board/errors.ts";
import { cancelRequest } from "../../../../server/board/request-status.ts";
import { boardContext } from "../../../../server/context.ts";

export async function cancelAction(form: FormData): Promise<void> {
  const token = String(form.get("token") ?? "");
  const { db } = await boardContext();
  try {
    await cancelRequest(db, undefined, token);
  } catch (error) {
    if (!(error instanceof BoardError)) throw error;
    redirect(`/status/${encodeURIComponent(token)}?problem=${encodeURIComponent(error.message)}`);
  }
  redirect(`/status/${encodeURIComponent(token)}`);
}
