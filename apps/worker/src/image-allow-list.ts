// Which job images this worker runs: the volunteer's allow-list, and the local image each one maps to.
import type { ImageKind } from "@tormr/sandbox/images";

export class ImageRefusedError extends Error {
  override readonly name = "ImageRefusedError";
  readonly code = "ERR_IMAGE_NOT_ALLOWED";
  constructor(
    readonly image: string,
    message: string,
  ) {
    super(message);
  }
}

/** The standard names, built locally by `ensureImage` whatever tag the requester's host gave them. */
const STANDARD: Record<string, ImageKind> = { "tormr/python": "python", "tormr/node": "node" };

/** `tormr/python:abc` → `tormr/python`; a colon before the last slash is a registry port. */
export function repositoryOf(image: string): string {
  const name = image.split("@")[0] ?? image;
  const colon = name.lastIndexOf(":");
  return colon > name.lastIndexOf("/") ? name.slice(0, colon) : name;
}

/**
 * Whether `image` is on the list. An entry without a tag allows every tag of that repository (the
 * requester's tag is a hash of its own host's files); an entry with a tag allows only that tag.
 */
export function isAllowed(image: string, allowImages: readonly string[]): boolean {
  const repository = repositoryOf(image);
  return allowImages.some((entry) =>
    entry === repositoryOf(entry) ? entry === repository : entry === image,
  );
}

export interface ResolveImageOptions {
  allowImages: readonly string[];
  /** Named in the refusal, so the volunteer knows where to allow an image. */
  configPath: string;
  /** bwrap runs host programs: the allow-list still applies, but there is no image to build. */
  sandbox: "docker" | "bwrap" | "none";
  /** Builds a standard image once per content hash (`ensureImage` with the worker's DOCKER_HOST). */
  ensureImage: (kind: ImageKind) => Promise<string>;
}

/** Throws ImageRefusedError when `image` is not allowed, naming the list and the file to edit. */
export function checkImage(image: string, options: Omit<ResolveImageOptions, "ensureImage">): void {
  if (isAllowed(image, options.allowImages)) return;
  throw new ImageRefusedError(
    image,
    `job image '${image}' is not on this worker's allow-list (${options.allowImages.join(", ")}); ` +
      `add it to allowImages in ${options.configPath} to run it`,
  );
}

/** The `resolveImage` the worker loop calls before joining. Builds each standard image at most once. */
export function createResolveImage(
  options: ResolveImageOptions,
): (image: string) => Promise<string> {
  const built = new Map<ImageKind, Promise<string>>();
  return async (image) => {
    checkImage(image, options);
    if (options.sandbox !== "docker") return image;
    const kind = STANDARD[repositoryOf(image)];
    if (kind === undefined) return image;
    let tag = built.get(kind);
    if (tag === undefined) {
      tag = options.ensureImage(kind);
      built.set(kind, tag);
      // A failed build is retried next time instead of being remembered.
      tag.catch(() => built.delete(kind));
    }
    return tag;
  };
}
