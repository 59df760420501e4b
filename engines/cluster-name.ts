import { basename } from "node:path";

/** How long the notebook part of a name may be: the name must stay readable in a 250 px sidebar. */
const MAX_STEM = 24;

const ADJECTIVES: readonly string[] = (
  "amber bold brave brisk calm clever crisp daring eager fair fleet gentle glad grand hardy jolly " +
  "keen lively lucky merry nimble noble plucky proud quick quiet rapid sharp steady swift tidy witty"
).split(" ");

const NOUNS: readonly string[] = (
  "badger beaver bison crane dingo eagle falcon ferret gecko heron ibex jackal koala lemur lynx marten " +
  "moose newt ocelot otter panda puffin quail raven robin seal stoat tapir tiger walrus wombat yak"
).split(" ");

/**
 * A readable name for a cluster started without one, which `taken` says is free.
 *
 * In a kernel that Jupyter started for a notebook (`JPY_SESSION_NAME` holds its path), the name
 * says which notebook: `nb-<notebook>-1`, `nb-<notebook>-2`, … Elsewhere (a script, the REPL) it
 * is an adjective and an animal, `brisk-otter`. Either tells clusters apart in the panel and in
 * `tsparallel cluster list`, where `<time>-<random>` names did not.
 */
export function defaultClusterName(
  taken: (name: string) => boolean,
  env: NodeJS.ProcessEnv = process.env,
  random: () => number = Math.random,
): string {
  const stem = notebookStem(env.JPY_SESSION_NAME);
  if (stem) {
    for (let i = 1; ; i++) if (!taken(`nb-${stem}-${i}`)) return `nb-${stem}-${i}`;
  }
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const base = `${pick(ADJECTIVES)}-${pick(NOUNS)}`;
  if (!taken(base)) return base;
  for (let i = 2; ; i++) if (!taken(`${base}-${i}`)) return `${base}-${i}`;
}

/** "notebooks/01 Direct views.ipynb" → "01-Direct-views"; undefined when nothing usable is left. */
function notebookStem(path: string | undefined): string | undefined {
  if (!path) return undefined;
  const stem = basename(path)
    .replace(/\.ipynb$/i, "")
    .replace(/[^\w.-]+/g, "-")
    .replace(/-{2,}/g, "-")
    .replace(/^[-.]+|[-.]+$/g, "")
    .slice(0, MAX_STEM)
    .replace(/[-.]+$/, "");
  return stem || undefined;
}
