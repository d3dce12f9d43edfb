import { runDemo } from './demo.ts';

const question = process.argv.slice(2).join(' ');
const result = await runDemo(question === '' ? {} : { question });
process.exitCode = result.stopReason === 'stop' ? 0 : 1;
