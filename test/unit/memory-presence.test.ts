import { MemoryPresence } from '../../src/master/presence/memory-presence';
import { presenceContract } from '../contract/presence-contract';

presenceContract('MemoryPresence', () => ({
  create: (_instance, vacateGraceMs) => Promise.resolve(new MemoryPresence({ vacateGraceMs })),
}));
