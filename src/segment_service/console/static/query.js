// Writing the `q` language from what a reader types (docs/behaviour.md#the-q-language): the console's searches
// are built here, so every page quotes and escapes alike.

/** A case-insensitive POSIX regular expression that finds `text` anywhere: each letter as [xX], the rest escaped
 * (q's regular expressions are case-sensitive). */
export function containsPattern(text) {
  return Array.from(text)
    .map((ch) => {
      const lower = ch.toLowerCase();
      const upper = ch.toUpperCase();
      if (lower !== upper) return `[${lower}${upper}]`;
      return /[\\^$.|?*+()[\]{}]/.test(ch) ? `\\${ch}` : ch;
    })
    .join("");
}

/** A q value: bare when it is a plain word, else quoted (q's quotes hold spaces and punctuation). */
export function qValue(value) {
  return /^[\w.@-]+$/.test(value) ? value : `"${value.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}
