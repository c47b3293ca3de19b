import { describe, expect, it } from "vitest";
import { type Reply, ReplyParser } from "./reply-parser.ts";
import { parseArguments, quoteString } from "./tokens.ts";

function collect(chunks: string[]): { replies: Reply[]; events: Reply[] } {
  const replies: Reply[] = [];
  const events: Reply[] = [];
  const parser = new ReplyParser({
    onReply: (r) => replies.push(r),
    onEvent: (e) => events.push(e),
  });
  for (const chunk of chunks) parser.push(Buffer.from(chunk));
  return { replies, events };
}

/** Every way of cutting `text` into two chunks, plus one byte at a time. */
function splits(text: string): string[][] {
  const out: string[][] = [[...text]];
  for (let at = 0; at <= text.length; at++) out.push([text.slice(0, at), text.slice(at)]);
  return out;
}

describe("control-spec §2.3 replies", () => {
  it("reads a one-line reply", () => {
    const { replies } = collect(["250 OK\r\n"]);
    expect(replies).toEqual([{ status: 250, lines: [{ status: 250, text: "OK" }] }]);
  });

  it("reads a multi-line reply whatever the TCP chunking", () => {
    const text =
      '250-PROTOCOLINFO 1\r\n250-AUTH METHODS=COOKIE,SAFECOOKIE COOKIEFILE="/var/run/tor/control.authcookie"\r\n250-VERSION Tor="0.4.9.11"\r\n250 OK\r\n';
    for (const chunks of splits(text)) {
      const { replies } = collect(chunks);
      expect(replies).toHaveLength(1);
      expect(replies[0]?.lines.map((l) => l.text)).toEqual([
        "PROTOCOLINFO 1",
        'AUTH METHODS=COOKIE,SAFECOOKIE COOKIEFILE="/var/run/tor/control.authcookie"',
        'VERSION Tor="0.4.9.11"',
        "OK",
      ]);
    }
  });

  it("reads a data reply and undoes dot-stuffing", () => {
    const text = "250+onions/current=\r\nabc\r\n..starts with a dot\r\n.\r\n250 OK\r\n";
    for (const chunks of splits(text)) {
      const { replies } = collect(chunks);
      expect(replies[0]?.lines[0]).toEqual({
        status: 250,
        text: "onions/current=",
        data: "abc\n.starts with a dot",
      });
      expect(replies[0]?.status).toBe(250);
    }
  });

  it("keeps 650 events apart from a reply they interleave with", () => {
    const text =
      "650 STREAM 12 NEW 0 abc.onion:80 SOURCE_ADDR=127.0.0.1:5000 PURPOSE=USER\r\n" +
      "250-ServiceID=abc\r\n" +
      "650-CONF_CHANGED\r\n650-SocksPort=9050\r\n" +
      "250-PrivateKey=ED25519-V3:xyz\r\n" +
      "650 OK\r\n" +
      "250 OK\r\n";
    for (const chunks of splits(text)) {
      const { replies, events } = collect(chunks);
      expect(replies).toEqual([
        {
          status: 250,
          lines: [
            { status: 250, text: "ServiceID=abc" },
            { status: 250, text: "PrivateKey=ED25519-V3:xyz" },
            { status: 250, text: "OK" },
          ],
        },
      ]);
      expect(events.map((e) => e.lines.map((l) => l.text))).toEqual([
        ["STREAM 12 NEW 0 abc.onion:80 SOURCE_ADDR=127.0.0.1:5000 PURPOSE=USER"],
        ["CONF_CHANGED", "SocksPort=9050", "OK"],
      ]);
    }
  });

  it("reads a multi-line event with a data block", () => {
    const { events } = collect(["650+NS\r\nr relay1\r\n.\r\n650 OK\r\n"]);
    expect(events[0]?.lines[0]).toEqual({ status: 650, text: "NS", data: "r relay1" });
  });

  it("reads error replies as replies", () => {
    const { replies } = collect(['552 Unrecognized key "nope"\r\n']);
    expect(replies[0]?.status).toBe(552);
  });

  it("refuses a line outside the grammar", () => {
    expect(() => collect(["HTTP/1.0 400 Bad\r\n"])).toThrow(/not a control-spec reply line/);
  });
});

describe("control-spec tokens", () => {
  it("splits positional, keyword and quoted arguments", () => {
    const { positional, keywords } = parseArguments(
      'NOTICE BOOTSTRAP PROGRESS=100 TAG=done SUMMARY="Done \\"really\\"" "a b"',
    );
    expect(positional).toEqual(["NOTICE", "BOOTSTRAP", "a b"]);
    expect(keywords.get("PROGRESS")).toBe("100");
    expect(keywords.get("SUMMARY")).toBe('Done "really"');
  });

  it("quotes a string and refuses line breaks", () => {
    expect(quoteString('pa"ss\\word')).toBe('"pa\\"ss\\\\word"');
    expect(() => quoteString("a\r\nQUIT")).toThrow(/without CR, LF/);
  });
});
