// `sandbox --help`, made from the table of options.ts when asked for (not at start).
import { OPTIONS, type OptionSpec, type Section } from "./options.ts";

const WIDTH = 100;
const TEXT_COLUMN = 34;

const USAGE = `sandbox [OPTIONS...] [--] COMMAND [ARGUMENTS...]
sandbox --enter PID [--namespaces LIST] [--chdir DIR] [--] COMMAND [ARGUMENTS...]

Run COMMAND in a new mount namespace with a root built from the options (bash when no
COMMAND is given). Option-compatible with mkosi-sandbox. With --enter, run COMMAND in the
namespaces of the running process PID instead, in its root and working directory.`;

const SECTION_INTRO: Record<Section, string> = {
  main: "",
  hakurei: "Operations from hakurei's container package (bubblewrap's option names where it has one):",
  dirmodes: `Directory modes (BenchExec's container mode): the root starts as a private copy of all of the
host's mounts, and each mount point gets the mode of its nearest configured directory. Without
a mode for /, / is overlay and /run, /tmp are hidden.`,
};

const FOOTER = `SRC prefixed with + is resolved inside the sandbox. Relative paths are taken against the
current directory. Exit status: the command's; 127 not found, 126 not executable, 1 setup
failure, 2 bad usage.`;

/** "  -h --help", "     --bind SRC DST", "     --doctor [--json]". */
function label(o: OptionSpec): string {
  const follow = o.info?.follow?.map((f) => `[${f}]`) ?? [];
  return `${o.short ? `  ${o.short} ` : "     "}${[o.name, ...o.args, ...follow].join(" ")}`;
}

/** `text` in lines of at most WIDTH columns, the first after `head`, the rest indented to TEXT_COLUMN. */
function wrap(head: string, text: string): string {
  const lines = [head.padEnd(TEXT_COLUMN - 1)];
  text.split(" ").forEach((word, i) => {
    if (i > 0 && lines.at(-1)!.length + 1 + word.length > WIDTH) lines.push(" ".repeat(TEXT_COLUMN - 1));
    lines[lines.length - 1] += ` ${word}`;
  });
  return lines.join("\n");
}

export function helpText(): string {
  const sections = (Object.keys(SECTION_INTRO) as Section[]).map((section) => {
    const lines = OPTIONS.filter((o) => o.section === section).map((o) => wrap(label(o), o.help));
    return [SECTION_INTRO[section], ...lines].filter(Boolean).join("\n");
  });
  return [USAGE, ...sections, FOOTER].join("\n\n");
}
