import type { ServerResponse } from "node:http";
import { describe, expect, it } from "vitest";
import { HOME_RENDER_MS, homePage } from "./home-page.ts";
import { contentSecurityPolicy } from "./security-headers.ts";

const NONCE = "AAAAAAAAAAAAAAAAAAAAAA==";

function nextAnswer(status = 200): Response {
  return new Response(`<script nonce="${NONCE}">1</script><link nonce="${NONCE}">`, {
    status,
    headers: {
      "content-security-policy": contentSecurityPolicy(NONCE),
      link: `</a.css>; rel=preload; nonce="${NONCE}"`,
      "referrer-policy": "same-origin",
      "content-type": "text/html; charset=utf-8",
      date: "Tue, 01 Dec 2026 00:00:00 GMT",
    },
  });
}

/** Just enough of a ServerResponse to see what was sent. */
function recorder() {
  const headers = new Map<string, string>();
  const sent = { status: 0, body: "", headers };
  const res = {
    set statusCode(code: number) {
      sent.status = code;
    },
    setHeader(name: string, value: string | number) {
      headers.set(name, String(value));
    },
    end(body: Buffer) {
      sent.body = body.toString();
    },
  };
  return { res: res as unknown as ServerResponse, sent };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

describe("homePage", () => {
  it("leaves the first request to Next, then answers from memory with a new nonce throughout", async () => {
    let renders = 0;
    const render = async () => {
      renders++;
      return nextAnswer();
    };
    const page = homePage({ render });
    expect(page.serve(recorder().res)).toBe(false);
    await settle();
    const one = recorder();
    const two = recorder();
    expect(page.serve(one.res)).toBe(true);
    expect(page.serve(two.res)).toBe(true);
    expect(renders).toBe(1);
    const nonce = /'nonce-([^']+)'/.exec(
      one.sent.headers.get("content-security-policy") ?? "",
    )?.[1];
    expect(nonce).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    expect(nonce).not.toBe(NONCE);
    expect(one.sent.body).toBe(`<script nonce="${nonce}">1</script><link nonce="${nonce}">`);
    expect(one.sent.headers.get("link")).toContain(`nonce="${nonce}"`);
    expect(one.sent.headers.get("content-length")).toBe(String(Buffer.byteLength(one.sent.body)));
    expect(one.sent.headers.get("referrer-policy")).toBe("same-origin");
    expect(one.sent.headers.has("date")).toBe(false);
    expect(two.sent.headers.get("content-security-policy")).not.toContain(nonce);
  });

  it("renders again once the kept page is HOME_RENDER_MS old, serving the old one meanwhile", async () => {
    let time = 0;
    let renders = 0;
    const render = async () => {
      renders++;
      return nextAnswer();
    };
    const page = homePage({ render, now: () => time });
    page.serve(recorder().res);
    await settle();
    time = HOME_RENDER_MS;
    expect(page.serve(recorder().res)).toBe(true);
    await settle();
    expect(renders).toBe(2);
  });

  it("keeps nothing that is not a 200 page with a nonce, and says why", async () => {
    const errors: string[] = [];
    const page = homePage({
      render: async () => nextAnswer(500),
      onError: (error) => errors.push(error.message),
    });
    page.serve(recorder().res);
    await settle();
    expect(page.serve(recorder().res)).toBe(false);
    expect(errors).toEqual(["Next's home page was not a whole 200 page with a nonce CSP"]);
  });
});
