console.log('usage: mfsmount-ts.js [-c CFG] [-f] start|stop|restart|reload');
