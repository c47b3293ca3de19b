#!/usr/bin/env python3
"""Hadoop Streaming word count, map side: prints `word<TAB>1` for every word on stdin.

A word is a run of ASCII letters, lowercased. Input is read as bytes, so invalid UTF-8
can never crash the task; non-ASCII bytes simply separate words. wordcount.mjs splits
the same way, so both jobs produce identical counts.
"""
import re
import sys

WORD = re.compile(rb"[A-Za-z]+")


def main() -> None:
    write = sys.stdout.buffer.write
    findall = WORD.findall
    for line in sys.stdin.buffer:
        words = findall(line)
        if words:
            # bytes.lower() touches ASCII only, matching the JS job's per-word toLowerCase().
            write(b"\t1\n".join(words).lower() + b"\t1\n")


if __name__ == "__main__":
    main()
