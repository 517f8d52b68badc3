import { stopSlurmTestbed } from './testbed';

export default function globalTeardown(): void {
  stopSlurmTestbed();
}
