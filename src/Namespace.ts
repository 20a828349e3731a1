/**
 * Namespaces as paths: a namespace is a path of labels joined by `/` (`"acme/users/42"`), and the subtree of a
 * namespace is itself and every namespace below it. A scoped service (`MemoryBackend.scoped`) sees its subtree;
 * `listNamespaces` and a `namespace` filter work on subtrees too.
 *
 * Why a separator inside the existing namespace string rather than a column per label: every layer already stores,
 * indexes and compares the namespace as one string, a subtree is then an equality or a prefix test on it (indexable
 * in SQL, one comparison in process), and a flat namespace (`"tenant-1"`) is simply a path of one label.
 *
 * @since 0.2.0
 */
import { isStorableText } from "./Json.js"

/** The character that joins a namespace's labels. @category namespaces */
export const SEPARATOR = "/"

/** Longest namespace, in characters (a path of several labels). @category namespaces */
export const MAX_NAMESPACE_LENGTH = 512

/**
 * Why `s` is not a namespace, or undefined when it is one: 1 to `MAX_NAMESPACE_LENGTH` characters, trimmed, without
 * NUL, and its labels (split at `/`) non-empty.
 *
 * @category namespaces
 */
export const namespaceProblem = (s: string): string | undefined =>
  s.length < 1 || s.length > MAX_NAMESPACE_LENGTH || s.trim() !== s || !isStorableText(s) || s.includes("\u0000")
    ? `namespace ${JSON.stringify(s.slice(0, 200))} must be 1 to ${MAX_NAMESPACE_LENGTH} characters, trimmed, without NUL`
    : s.split(SEPARATOR).some((label) => label.length === 0)
    ? `namespace ${JSON.stringify(s.slice(0, 200))} has an empty label (a leading, trailing or doubled "${SEPARATOR}")`
    : undefined

/** The labels of a namespace (`"a/b"` → `["a", "b"]`). @category namespaces */
export const labels = (namespace: string): ReadonlyArray<string> => namespace.split(SEPARATOR)

/** The namespace of a path of labels (each label must not contain `/`). @category namespaces */
export const join = (path: ReadonlyArray<string>): string => path.join(SEPARATOR)

/** Whether `namespace` is `root` or below it. @category namespaces */
export const inSubtree = (root: string, namespace: string): boolean =>
  namespace === root || namespace.startsWith(root + SEPARATOR)
