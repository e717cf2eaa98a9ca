console.log('usage: mfschunkserver-ts.js [-c CFG] [-f] start|stop|restart|reload');
