// Builds the project's standard images (tormr/python, tormr/node) into the daemon at DOCKER_HOST.
import { ensureImage, type ImageKind } from "../src/images.ts";

const kinds: ImageKind[] = ["python", "node"];
for (const kind of kinds) {
  const started = Date.now();
  const tag = await ensureImage(kind);
  console.log(`${tag} (${Date.now() - started} ms)`);
}
