// Must NOT type-check: proves the packages' types are found (were they `any`, this would pass).
import { createPool } from '@riopool/pool';

createPool().acquire('512 bytes');
