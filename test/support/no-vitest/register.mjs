// node --import tsx --import ./register.mjs: `vitest` cannot be found (see hooks.mjs)
import { register } from 'node:module';

register('./hooks.mjs', import.meta.url);
