// Word count as a TorMR JS job: the same words and counts as mapper.py and reducer.py.

// A word is a run of ASCII letters, lowercased. Splitting before lowercasing matters:
// toLowerCase() on a whole line would turn e.g. the Kelvin sign (U+212A) into "k",
// which the byte-oriented Python mapper never does.
const WORD = /[A-Za-z]+/g;

/** @param {string} line @param {(key: string, value: string | number) => void} emit */
export function map(line, emit) {
  // match() with a global regex returns every word at once, faster than split() and a filter.
  const words = line.match(WORD);
  if (words === null) return;
  for (const word of words) emit(word.toLowerCase(), 1);
}

/** @param {AsyncIterable<string>} values */
async function sum(values) {
  let total = 0;
  for await (const value of values) total += Number(value);
  return total;
}

/** @param {string} key @param {AsyncIterable<string>} values @param {(key: string, value: string | number) => void} emit */
export async function combine(key, values, emit) {
  emit(key, await sum(values));
}

/** @param {string} key @param {AsyncIterable<string>} values @param {(key: string, value: string | number) => void} emit */
export async function reduce(key, values, emit) {
  emit(key, await sum(values));
}
