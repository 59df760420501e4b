import ts from "typescript";
import type { CompletionResult } from "../code-session.js";

// What Jupyter front ends show for a completion's kind (IPython's `_jupyter_types_experimental` words).
function jupyterType(kind: ts.ScriptElementKind): string {
  const K = ts.ScriptElementKind;
  switch (kind) {
    case K.functionElement:
    case K.localFunctionElement:
    case K.memberFunctionElement:
    case K.constructSignatureElement:
    case K.callSignatureElement:
      return "function";
    case K.classElement:
    case K.localClassElement:
    case K.interfaceElement:
    case K.typeElement:
    case K.enumElement:
    case K.typeParameterElement:
      return "class";
    case K.moduleElement:
    case K.externalModuleName:
      return "module";
    case K.keyword:
      return "keyword";
    case K.memberVariableElement:
    case K.memberGetAccessorElement:
    case K.memberSetAccessorElement:
    case K.enumMemberElement:
      return "property";
    case K.parameterElement:
      return "param";
    default:
      return "instance";
  }
}

const internal = /^__tsp(arallel)?_/;

/**
 * Type-aware completion at `cursorPos`: the language service's candidates for the position,
 * narrowed to those starting with the word before the cursor (case-sensitive first, then not).
 */
export function completeAt(
  service: ts.LanguageService,
  fileName: string,
  code: string,
  cursorPos: number,
): CompletionResult {
  const pos = Math.max(0, Math.min(cursorPos, code.length));
  let start = pos;
  while (start > 0 && /[\w$]/.test(code[start - 1] ?? "")) start--;
  const prefix = code.slice(start, pos);
  const info = service.getCompletionsAtPosition(fileName, pos, {
    includeCompletionsWithInsertText: true,
    includeCompletionsForModuleExports: false,
  });
  const empty: CompletionResult = { matches: [], cursorStart: start, cursorEnd: pos, types: [] };
  if (!info) return empty;
  const candidates = info.entries.filter((e) => !internal.test(e.name));
  let chosen = candidates.filter((e) => e.name.startsWith(prefix));
  if (!chosen.length)
    chosen = candidates.filter((e) => e.name.toLowerCase().startsWith(prefix.toLowerCase()));
  chosen.sort((a, b) =>
    a.sortText === b.sortText ? a.name.localeCompare(b.name) : a.sortText < b.sortText ? -1 : 1,
  );
  const seen = new Set<string>();
  const unique = chosen.filter((e) => !seen.has(e.name) && seen.add(e.name));
  return {
    matches: unique.map((e) => e.name),
    cursorStart: start,
    cursorEnd: pos,
    types: unique.map((e) => ({ text: e.name, type: jupyterType(e.kind), start, end: pos })),
  };
}
