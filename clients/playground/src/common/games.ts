/**
 * What the pages know about a game that its schema does not say: how big the world is and
 * how big a player is drawn (the rules are not on the wire, PROTOCOL.md section 11). The
 * arena's and the shooter's come from the SDK's rules (see looks.ts); tag, which the SDK
 * has no rules for, is here; any other game is drawn in the bounds its entities span, so
 * a new game still shows up. No SDK import here: this module is unit tested under Node.
 */

export interface GameLook {
  /** The world spans `[0, size] × [0, size]` world units. */
  size: number;
  /** A player's radius in world units. */
  radius: number;
  /** The kind a player's own entity has (it carries the player's id). */
  playerKind: string;
}

/** Tag's world (`server/src/games/tag.rs`): runners within [0, 400]², touching at 10. */
export const TAG_LOOK: GameLook = { size: 400, radius: 5, playerKind: "runner" };

/** The look of a game this page does not know: a square around every position seen. */
export function guessedLook(positions: Iterable<[number, number]>, playerKind: string): GameLook {
  let max = 1;
  for (const [x, y] of positions) max = Math.max(max, x, y);
  // Round up so that the square does not rescale with every step a player takes.
  const size = 2 ** Math.ceil(Math.log2(max * 1.1));
  return { size, radius: Math.max(2, size / 160), playerKind };
}
