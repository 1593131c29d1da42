export * from '../../scripts/lib/proc';
