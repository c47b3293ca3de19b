// Posting a cluster request: the form, and the command that makes its stamp.
import { connection } from "next/server";
import { stampResource } from "../../../server/board/settings.ts";
import { stampCommand } from "../../../server/board/stamp-command.ts";
import { boardContext } from "../../../server/context.ts";
import { PostForm } from "./post-form.tsx";

export default async function PostPage() {
  await connection();
  const { settings } = await boardContext();
  return (
    <>
      <h1>Request a cluster</h1>
      <p>
        Name your job host's onion address and how many workers you need. The board checks the
        address, and lists your request until enough volunteers are there.
      </p>
      <PostForm
        bits={settings.postBits}
        stampCommand={stampCommand(stampResource(settings, "post"), settings.postBits)}
      />
    </>
  );
}
