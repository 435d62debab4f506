/** Tests import the simulated node from here (it lives in src/node so benchmarks can run it compiled). */
export { FakeNode, type FakeNodeOptions } from '../src/node/fake.js';
