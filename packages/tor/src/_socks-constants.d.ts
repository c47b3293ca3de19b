// The `socks` package ships its constants' types under typings/, where a deep import does not find them.
declare module "socks/build/common/constants.js" {
  /** A TypeScript enum: names to reply codes and reply codes to names. */
  export const Socks5Response: Record<string | number, string | number>;
}
