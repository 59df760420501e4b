/**
 * For each line of `code`, whether it starts at the top level of the program: outside strings,
 * template literals and comments, and outside any bracket. Only such lines may hold a line magic,
 * so a `%` inside a string, a template or an expression is never taken for one.
 *
 * This is a lexical scan, not a parse: a regular expression literal that contains a quote can
 * hide later magics (they then reach TypeScript, which reports them), never the reverse.
 */
export function topLevelLineStarts(code: string): boolean[] {
  const starts: boolean[] = [true];
  // Stack of open constructs: "(", "[", "{", "`" (template text) or "${" (template code).
  const stack: string[] = [];
  let i = 0;
  const n = code.length;
  const atTop = () => stack.length === 0;
  while (i < n) {
    const c = code[i]!;
    const inTemplateText = stack[stack.length - 1] === "`";
    if (c === "\n") {
      starts.push(atTop());
      i++;
      continue;
    }
    if (inTemplateText) {
      if (c === "\\") i += 2;
      else if (c === "`") {
        stack.pop();
        i++;
      } else if (c === "$" && code[i + 1] === "{") {
        stack.push("${");
        i += 2;
      } else i++;
      continue;
    }
    if (c === "/" && code[i + 1] === "/") {
      while (i < n && code[i] !== "\n") i++;
      continue;
    }
    if (c === "/" && code[i + 1] === "*") {
      const end = code.indexOf("*/", i + 2);
      const stop = end < 0 ? n : end + 2;
      for (let j = i; j < stop; j++) if (code[j] === "\n") starts.push(false);
      i = stop;
      continue;
    }
    if (c === "'" || c === '"') {
      i++;
      while (i < n && code[i] !== c && code[i] !== "\n") i += code[i] === "\\" ? 2 : 1;
      i++;
      continue;
    }
    if (c === "`") stack.push("`");
    else if (c === "(" || c === "[" || c === "{") stack.push(c);
    else if (c === ")" || c === "]" || c === "}") {
      if (stack.length > 0 && stack[stack.length - 1] !== "`") stack.pop();
    }
    i++;
  }
  return starts;
}
