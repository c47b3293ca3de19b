// torrc options for each role in the private network (ENVIRONMENT.md's verified recipe for tor 0.4.9).
import type { TorrcOptions } from "../torrc.ts";

export type Role = "authority" | "relay" | "client";

export interface AuthorityLine {
  nickname: string;
  orPort: number;
  dirPort: number;
  v3ident: string;
  fingerprint: string;
}

export interface NodeOptionsInput {
  role: Role;
  nickname: string;
  authorities: AuthorityLine[];
  /** An empty file: no GeoIP database saves about 300 MB and start-up CPU. */
  emptyFile: string;
  orPort?: number;
  dirPort?: number;
}

export function nodeOptions(input: NodeOptionsInput): TorrcOptions {
  const common: TorrcOptions = {
    Nickname: input.nickname,
    TestingTorNetwork: 1,
    AssumeReachable: 1,
    PathsNeededToBuildCircuits: "0.67",
    TestingDirAuthVoteExit: "*",
    TestingDirAuthVoteHSDir: "*",
    TestingDirAuthVoteGuard: "*",
    TestingMinExitFlagThreshold: 0,
    V3AuthNIntervalsValid: 2,
    ShutdownWaitLength: 0,
    Address: "127.0.0.1",
    GeoIPFile: input.emptyFile,
    GeoIPv6File: input.emptyFile,
    DirAuthority: input.authorities.map(
      (a) =>
        `${a.nickname} orport=${a.orPort} no-v2 v3ident=${a.v3ident} 127.0.0.1:${a.dirPort} ${a.fingerprint}`,
    ),
  };
  if (input.role === "client") {
    // In a network this small, entry guards collide with the rest of the path and stall bootstrap.
    return { ...common, UseEntryGuards: 0 };
  }
  const relay: TorrcOptions = {
    ...common,
    ORPort: `127.0.0.1:${input.orPort}`,
    DirPort: `127.0.0.1:${input.dirPort}`,
    ExitRelay: 0,
    ExitPolicy: "reject *:*",
  };
  if (input.role === "relay") return relay;
  return {
    ...relay,
    AuthoritativeDirectory: 1,
    V3AuthoritativeDirectory: 1,
    TestingV3AuthInitialVotingInterval: 5,
    TestingV3AuthInitialVoteDelay: 2,
    TestingV3AuthInitialDistDelay: 2,
    V3AuthVotingInterval: 10,
    // tor refuses delays below 2 s ("way too low").
    V3AuthVoteDelay: 2,
    V3AuthDistDelay: 2,
  };
}
