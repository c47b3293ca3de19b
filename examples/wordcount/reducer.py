#!/usr/bin/env python3
"""Hadoop Streaming word count, reduce side (also usable as the combiner).

Reads `word<TAB>count` lines sorted by key and prints one `word<TAB>total` line per
run of equal keys. A line without a count counts as 1; a count that is not a whole
number is skipped and reported through a Hadoop `reporter:counter:` line on stderr.
"""
import sys


def main() -> None:
    write = sys.stdout.buffer.write
    current = None
    total = 0
    bad = 0
    for line in sys.stdin.buffer:
        key, tab, value = line.rstrip(b"\r\n").partition(b"\t")
        if tab:
            try:
                count = int(value)
            except ValueError:
                bad += 1
                continue
        else:
            count = 1
        if key != current:
            if current is not None:
                write(current + b"\t" + str(total).encode() + b"\n")
            current = key
            total = 0
        total += count
    if current is not None:
        write(current + b"\t" + str(total).encode() + b"\n")
    if bad:
        sys.stderr.write(f"reporter:counter:WordCount,BAD_COUNTS,{bad}\n")


if __name__ == "__main__":
    main()
