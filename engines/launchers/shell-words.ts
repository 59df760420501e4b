/**
 * Shell words: quoting for commands that a POSIX shell will read (a remote `sh`, a batch script),
 * and splitting of option strings a user typed (`--ssh-args "-F ~/cfg -i key"`).
 */

/** Quotes `word` for a POSIX shell (single quotes; plain words stay as they are). */
export function shellQuote(word: string): string {
  if (/^[\w@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** Quotes every word and joins them with spaces. */
export function shellJoin(words: readonly string[]): string {
  return words.map(shellQuote).join(" ");
}

/**
 * Splits an option string into words the way a shell would for plain cases: whitespace separates,
 * single and double quotes group, a backslash escapes the next character. No expansions.
 */
export function splitShellWords(text: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) throw new Error(`unterminated ${c} quote in "${text}"`);
      word += text.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (c === "\\" && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}
