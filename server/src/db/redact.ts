/**
 * A database URL with its password replaced by "***", for logs and errors.
 * Strings that are not URLs are returned with anything that looks like
 * `user:password@` redacted, so a malformed URL cannot leak a secret either.
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== "") u.password = "***";
    for (const key of [...u.searchParams.keys()]) {
      if (/pass(word)?|secret|token/i.test(key)) u.searchParams.set(key, "***");
    }
    return u.toString();
  } catch {
    return redactSecrets(url);
  }
}

/** Replaces `scheme://user:password@` credentials anywhere in `text`. */
export function redactSecrets(text: string): string {
  return text.replace(/(\/\/[^:/@\s]*:)[^@\s]*@/g, "$1***@");
}
