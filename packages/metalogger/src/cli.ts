console.log('usage: mfsmetalogger-ts.js [-c CFG] [-f] start|stop|restart|reload');
