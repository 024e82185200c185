/**
 * The room's state that has no place in the world (the shooter's score table and match
 * clock): every kind without a position, shown as a table of its fields. It goes by the
 * schema, so a game's own tables show up without code here; an `entity` field that names
 * a player is shown as the player's name, and a table with a `score` column is ranked.
 */

import type { EntityLike } from "./scene.js";
import { el } from "./dom.js";

export interface TableKind {
  name: string;
  position?: [number, number];
  fields: { name: string; type: string }[];
}

/** The kinds the side panel shows: those without a position. */
export function stateKinds(kinds: readonly TableKind[]): TableKind[] {
  return kinds.filter((k) => !k.position);
}

/** A cell as text: seconds for a clock's `time_left`, a name for a player's id. */
function cell(kind: TableKind, field: string, v: unknown, names: ReadonlyMap<number, string>): string {
  const type = kind.fields.find((f) => f.name === field)?.type;
  if (type === "entity" && typeof v === "number") return names.get(v) ?? (v === 0 ? "–" : `#${v}`);
  if (field === "time_left" && typeof v === "number") {
    return `${Math.floor(v / 60)}:${String(v % 60).padStart(2, "0")}`;
  }
  return String(v);
}

/** Rewrites the panel with one table per kind; `rows(kind)` is `room.roomState(kind)`. */
export function renderState(
  panel: HTMLElement,
  kinds: readonly TableKind[],
  rows: (kind: string) => EntityLike[],
  names: ReadonlyMap<number, string>,
): void {
  const tables = kinds.map((kind) => {
    const entities = [...rows(kind.name)];
    if (kind.fields.some((f) => f.name === "score")) {
      entities.sort((a, b) => Number(b.fields.score) - Number(a.fields.score));
    }
    const table = el("table", undefined, { "data-kind": kind.name });
    table.append(el("caption", kind.name));
    const head = el("tr");
    for (const f of kind.fields) head.append(el("th", f.name));
    table.append(head);
    for (const e of entities) {
      const tr = el("tr");
      for (const f of kind.fields) tr.append(el("td", cell(kind, f.name, e.fields[f.name], names)));
      table.append(tr);
    }
    return table;
  });
  panel.replaceChildren(...tables);
}
