console.log('usage: mfsmaster-ts.js [-c CFG] [-f] start|stop|restart|reload');
