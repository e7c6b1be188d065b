// The docs flag tables, generated from the declarations: each group's table
// sits in its page between `<!-- flags:GROUP -->` and `<!-- /flags:GROUP -->`.
// `npm run docs:flags` rewrites them; tests/docs.test.ts fails when one is stale.
import { serverFlags } from "./declarations.ts";
import { groupPages, type Flag, type FlagGroup } from "./flag.ts";

function defaultCell(f: Flag): string {
  let text: string;
  if (f.docDefault !== undefined) text = f.docDefault;
  else if (f.arg === undefined) text = f.default === true ? "on" : "off";
  else if (f.default !== undefined) text = `\`${f.defaultText ?? String(f.default)}\``;
  else text = "–";
  return f.env !== undefined ? `${text} (\`$${f.env}\`)` : text;
}

function row(f: Flag): string {
  const name = f.arg === undefined ? `--${f.negatable ? "no-" : ""}${f.name}` : `--${f.name} ${f.arg}`;
  const cells = [`\`${name.replaceAll("|", "\\|")}\``, defaultCell(f), (f.doc ?? f.help).replaceAll("|", "\\|")];
  return `| ${cells.join(" | ")} |`;
}

/** The markdown table of one group's flags. */
export function flagTable(group: FlagGroup): string {
  const rows = serverFlags.filter((f) => f.group === group && !f.undocumented).map(row);
  return ["| flag | default | meaning |", "|---|---|---|", ...rows].join("\n");
}

const markers = (group: FlagGroup) => [`<!-- flags:${group} -->`, `<!-- /flags:${group} -->`] as const;

/**
 * `page` with the table of `group` replaced by the generated one. Throws when
 * the page lacks the markers.
 */
export function withFlagTable(page: string, group: FlagGroup): string {
  const [open, close] = markers(group);
  const start = page.indexOf(open);
  const end = page.indexOf(close);
  if (start < 0 || end < start) throw new Error(`${groupPages[group]}: no ${open} … ${close} markers`);
  return `${page.slice(0, start + open.length)}\n${flagTable(group)}\n${page.slice(end)}`;
}

/** Every group with its docs page, for the script and the test. */
export const flagGroups = Object.entries(groupPages) as Array<[FlagGroup, string]>;
