// The console's HTML: escaping, and the frame every page shares (the board's header, column and footer).

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Text made safe for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/** A whole page: no script, one stylesheet from this origin. `body` is already escaped HTML. */
export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · TorMR console</title>
<link rel="stylesheet" href="/console/style.css">
</head>
<body>
<header class="site"><div class="frame"><a class="name" href="/console">TorMR console</a><nav><a href="/console">Jobs</a></nav></div></header>
<main>
${body}
</main>
<footer class="site"><div class="frame">Served on this computer only (127.0.0.1), never as an onion service.</div></footer>
</body>
</html>
`;
}
