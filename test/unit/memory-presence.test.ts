import { MemoryPresence } from '../../src/master/presence/memory-presence';
import { presenceContract } from '../contract/presence-contract';

presenceContract('MemoryPresence', () => ({
  create: () => Promise.resolve(new MemoryPresence()),
}));
