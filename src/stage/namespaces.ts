// Which namespaces a plan's setup makes.
import type { Plan } from "../plan/types.ts";
import { CLONE } from "../sys/flags.ts";
import { CAP, hasEffectiveCap } from "../sys/caps.ts";

/** The namespaces a plan gets (mount always; user when `userns`; net only where it can be set up). */
export function namespaceFlags(plan: Plan, userns: boolean): number {
  let flags = CLONE.NEWNS;
  if (userns) flags |= CLONE.NEWUSER;
  if (plan.unshareNet && (userns || hasEffectiveCap(CAP.NET_ADMIN))) flags |= CLONE.NEWNET;
  if (plan.unshareIpc) flags |= CLONE.NEWIPC;
  if (plan.unsharePid) flags |= CLONE.NEWPID;
  if (plan.unshareUts) flags |= CLONE.NEWUTS;
  if (plan.unshareCgroup) flags |= CLONE.NEWCGROUP;
  return flags;
}
