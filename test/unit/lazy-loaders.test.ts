import { lazyLoaders, type Loaders } from '../../src/modules/loaders';

/* A request's loaders are built on first use, once, and survive Apollo's copy of the context. */
it('builds the loaders on first use, once', () => {
  let built = 0;
  const real = { environment: { load: () => 'e' }, space: { load: () => 's' } } as unknown as Loaders;
  const loaders = lazyLoaders(() => {
    built += 1;
    return real;
  });
  const context = { loaders };
  const copied = Object.assign(Object.create(Object.getPrototypeOf(context)), context) as typeof context; // as Apollo's cloneObject
  expect(built).toBe(0);
  expect(copied.loaders.environment).toBe(real.environment);
  expect(loaders.space).toBe(real.space);
  expect(built).toBe(1);
});
