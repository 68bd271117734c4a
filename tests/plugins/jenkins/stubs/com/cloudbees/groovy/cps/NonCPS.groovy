// Stand-in for Jenkins' @NonCPS (groovy-cps), which exists only inside a
// Jenkins controller: lets plain groovy compile the shared library.
package com.cloudbees.groovy.cps

import java.lang.annotation.ElementType
import java.lang.annotation.Retention
import java.lang.annotation.RetentionPolicy
import java.lang.annotation.Target

@Retention(RetentionPolicy.RUNTIME)
@Target([ElementType.METHOD])
@interface NonCPS {}
