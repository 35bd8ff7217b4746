/**
 * The one zod every schema of ours uses: `zod/mini`, zod's functional API (`z.optional(x)`,
 * `z.string().check(z.maxLength(5))`), set up as the classic `import { z } from 'zod'` sets itself up.
 *
 * Why mini: the classic API is one class per schema kind with every method on it, which a bundle
 * cannot shake: 26 KB of the agent bundle's minified code and about 1 MB of its RSS (7-19 MB from
 * the unbundled tree; README.md, "Edge agent memory"). Mini is the same core (the same parsing, the same issues), so the messages are the
 * same, provided the two settings classic makes on its first schema are made here too:
 *
 * - English messages (`localeError`): mini configures no locale, and its issues would all say
 *   "Invalid input".
 * - The memoizer, which lets recursive schemas (`z.json()`) parse cyclic input: YAML anchors make
 *   cycles (`a: &x [*x]`), which classic accepts and mini would answer with a stack overflow.
 *
 * Both are zod's process-wide configuration (globalThis), set only when unset, as classic does,
 * so an explicit `z.config(...)` elsewhere still wins. Import `z` from here, never from 'zod'.
 */
import { z } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

if (!z.config().localeError) z.config(en());
if (!z.config().memoizer) z.config({ memoizer: z.memoizer() });

export { z };
