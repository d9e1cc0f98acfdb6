// A real lxcfs (Debian's, which .ci/run installs): the FUSE filesystem mounted by root on a
// temporary directory of ours, for the tests of the lxcfs support and of FUSE sources.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { IS_ROOT } from "./run.ts";

const BINARY = ["/usr/bin/lxcfs", "/bin/lxcfs"].find((p) => existsSync(p));
/** Whether a real lxcfs can be mounted here (installed, and we are root). */
export const HAVE_LXCFS = BINARY !== undefined && IS_ROOT;

export interface Lxcfs {
  /** The mount point; its lxcfs files are in `${dir}/proc`. */
  dir: string;
  /** SIGTERM: lxcfs unmounts its filesystem and exits; the directory is removed. */
  stop(): Promise<void>;
}

export async function startLxcfs(): Promise<Lxcfs> {
  const base = mkdtempSync("/var/tmp/bsb-lxcfs-");
  chmodSync(base, 0o755);
  const dir = `${base}/mnt`;
  mkdirSync(dir, { mode: 0o755 });
  // A pid file of its own: with the default (/run/lxcfs.pid) lxcfs refuses to start while the
  // host's lxcfs, or any other, holds it.
  const daemon = Bun.spawn([BINARY!, "--pidfile", `${base}/lxcfs.pid`, dir], { stdin: "ignore", stdout: "ignore", stderr: Bun.file(`${base}/lxcfs.log`) });
  const stop = async () => {
    daemon.kill("SIGTERM");
    await daemon.exited;
    rmSync(base, { recursive: true, force: true });
  };
  const end = Date.now() + 10_000;
  while (!existsSync(`${dir}/proc/meminfo`)) {
    if (Date.now() > end || daemon.exitCode !== null) {
      const said = readFileSync(`${base}/lxcfs.log`, "utf8").trim().split("\n").slice(-2).join(" | ");
      await stop();
      throw new Error(`lxcfs did not mount ${dir} (exit ${daemon.exitCode}): ${said}`);
    }
    await Bun.sleep(20);
  }
  return { dir, stop };
}
