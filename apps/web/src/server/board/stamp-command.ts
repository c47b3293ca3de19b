// The one-line command a requester without JavaScript runs to make a stamp (python3, found on every Tor user's Linux and macOS).

/**
 * A python3 one-liner that prints a stamp of `bits` for `resource`, in exactly the format
 * @tormr/crypto/stamp checks (its tests run it against the checker).
 */
export function stampCommand(resource: string, bits: number): string {
  const program = [
    "import hashlib,os,base64,time,itertools",
    `r='${resource}'`,
    `b=${bits}`,
    "p='1:%d:%s:%s::%s:'%(b,time.strftime('%y%m%d%H%M',time.gmtime()),r,base64.b64encode(os.urandom(12)).decode())",
    "print(p+format(next(c for c in itertools.count() if int.from_bytes(hashlib.sha256((p+format(c,'x')).encode()).digest(),'big')>>(256-b)==0),'x'))",
  ].join(";");
  return `python3 -c "${program}"`;
}
