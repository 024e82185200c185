/**
 * The look of each game the pages know, from the SDK's own copy of the games' rules, so
 * that the world drawn is the world the SDK predicts in.
 */

import { arena, shooter } from "@tickwire/client";
import { TAG_LOOK, type GameLook } from "./games.js";

const LOOKS: Record<string, GameLook> = {
  arena: { size: arena.rules.size, radius: arena.rules.radius, playerKind: arena.predictor.kind },
  shooter: { size: shooter.rules.size, radius: shooter.rules.shipRadius, playerKind: shooter.predictor.kind },
  tag: TAG_LOOK,
};

export function gameLook(game: string): GameLook | undefined {
  return LOOKS[game];
}
