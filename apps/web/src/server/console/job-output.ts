// A job's output for the browser: one part file, or all of them as one tar archive, streamed from the job host.
import type { ServerResponse } from "node:http";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { AdminClient } from "@tormr/protocol/admin-client";
import { pack } from "tar-stream";

const PART = /^part-\d{5}$/;

export async function sendPart(
  admin: AdminClient,
  jobId: string,
  part: string,
  res: ServerResponse,
) {
  if (!PART.test(part)) {
    res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
    res.end(`no output file '${part.slice(0, 40)}': output files are named part-00000 and on\n`);
    return;
  }
  const { body, size } = await admin.outputPart(jobId, part);
  res.writeHead(200, {
    "content-type": "text/plain; charset=utf-8",
    "content-disposition": `attachment; filename="${jobId}-${part}"`,
    ...(size !== undefined ? { "content-length": String(size) } : {}),
  });
  await pipeline(Readable.fromWeb(body), res);
}

/** Every part, in order, in `<job>/part-NNNNN` entries of one tar (sizes from the job host). */
export async function sendArchive(admin: AdminClient, jobId: string, res: ServerResponse) {
  const parts = await admin.outputParts(jobId);
  const tar = pack();
  res.writeHead(200, {
    "content-type": "application/x-tar",
    "content-disposition": `attachment; filename="${jobId}.tar"`,
  });
  const sent = pipeline(tar, res);
  for (const part of parts) {
    const { body, size } = await admin.outputPart(jobId, part);
    if (size === undefined) throw new Error(`the job host did not say how large ${part} is`);
    const entry = tar.entry({ name: `${jobId}/${part}`, size, mode: 0o644 });
    await pipeline(Readable.fromWeb(body), entry);
  }
  tar.finalize();
  await sent;
}
