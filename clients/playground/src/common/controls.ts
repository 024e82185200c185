/**
 * Keyboard and mouse to a game's input: which keys are held, where the mouse points and
 * whether the trigger is down, turned into the values of the schema's input fields.
 * The mapping goes by the input fields' names and types rather than by game, so the
 * arena, the shooter and tag (and a game this page has never heard of) all play:
 * `dx`/`dy` take the held direction, an `angle` the aim, a `bool` the trigger.
 */

/** The input fields as the schema declares them (only what the mapping reads). */
export interface InputFieldLike {
  name: string;
  type: string;
  min?: number;
  max?: number;
  variants?: string[];
}

/** What the player is doing right now, in world terms. */
export interface Intent {
  /** Wanted direction, length 0 or 1 (screen up is world −y). */
  dir: [number, number];
  /** Where the player aims, radians in world coordinates. */
  aim: number;
  /** The trigger is held. */
  fire: boolean;
}

const UP = ["KeyW", "ArrowUp"];
const DOWN = ["KeyS", "ArrowDown"];
const LEFT = ["KeyA", "ArrowLeft"];
const RIGHT = ["KeyD", "ArrowRight"];
/** Keys the page takes for itself, so that arrows and space do not scroll it. */
export const GAME_KEYS = new Set([...UP, ...DOWN, ...LEFT, ...RIGHT, "Space"]);

/**
 * The direction the held keys ask for, of length 1 (or 0 with none, or with opposite keys
 * cancelling). Diagonals are normalized so that running diagonally is no faster.
 */
export function heldDirection(held: ReadonlySet<string>): [number, number] {
  const any = (codes: string[]) => codes.some((c) => held.has(c));
  const x = (any(RIGHT) ? 1 : 0) - (any(LEFT) ? 1 : 0);
  const y = (any(DOWN) ? 1 : 0) - (any(UP) ? 1 : 0);
  const length = Math.hypot(x, y);
  return length === 0 ? [0, 0] : [x / length, y / length];
}

/** The values of every input field for an intent, by field name. */
export function inputValues(fields: readonly InputFieldLike[], intent: Intent): Record<string, number | boolean | string> {
  const values: Record<string, number | boolean | string> = {};
  for (const f of fields) {
    switch (f.type) {
      case "float":
        values[f.name] = f.name === "dx" ? intent.dir[0] : f.name === "dy" ? intent.dir[1] : 0;
        break;
      case "angle":
        values[f.name] = intent.aim;
        break;
      case "bool":
        values[f.name] = intent.fire;
        break;
      case "int":
        // Buttons and the like: nothing pressed, which is the field's least value.
        values[f.name] = Math.max(0, f.min ?? 0);
        break;
      case "enum":
        values[f.name] = f.variants?.[0] ?? 0;
        break;
      default:
        values[f.name] = 0;
    }
  }
  return values;
}

/**
 * The live state of the keyboard and the mouse over one canvas. Keys are cleared when
 * the window loses focus: a key released in another window never sends its keyup here,
 * and the player would run on forever.
 */
export class Controls {
  readonly held = new Set<string>();
  /** The mouse over the canvas, in CSS pixels from its top left; null until it moves. */
  mouse: { x: number; y: number } | null = null;
  mouseDown = false;

  constructor(canvas: HTMLCanvasElement) {
    window.addEventListener("keydown", (e) => {
      if (!GAME_KEYS.has(e.code)) return;
      e.preventDefault();
      this.held.add(e.code);
    });
    window.addEventListener("keyup", (e) => {
      this.held.delete(e.code);
    });
    window.addEventListener("blur", () => {
      this.held.clear();
      this.mouseDown = false;
    });
    canvas.addEventListener("mousemove", (e) => {
      const r = canvas.getBoundingClientRect();
      this.mouse = { x: e.clientX - r.left, y: e.clientY - r.top };
    });
    canvas.addEventListener("mousedown", (e) => {
      if (e.button === 0) this.mouseDown = true;
    });
    window.addEventListener("mouseup", (e) => {
      if (e.button === 0) this.mouseDown = false;
    });
  }

  /** The trigger: the left button or space. */
  get firing(): boolean {
    return this.mouseDown || this.held.has("Space");
  }
}
