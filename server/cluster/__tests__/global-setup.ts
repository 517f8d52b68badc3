import { startSlurmTestbed } from './testbed';

export default function globalSetup(): void {
  startSlurmTestbed();
}
