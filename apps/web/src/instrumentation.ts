// When the board's server starts: the matching loop, which forms clusters as workers and requests arrive.
export async function register() {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { startMatching } = await import("./server/matching.ts");
  startMatching();
}
