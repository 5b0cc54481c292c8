// The same as consumer.cjs, as an ES module with named imports from the CommonJS packages.
import { createPool } from '@riopool/pool';
import { loadedBindingPath } from '@riopool/native';
import { exercise } from './exercise.cjs';

await exercise(createPool, loadedBindingPath, 'esm');
