export { runServer, type RunningServer } from './server.js';
